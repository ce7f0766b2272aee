from dashcam.cli.app import main

main()
