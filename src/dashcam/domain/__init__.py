"""Pure types and logic: no files, sockets or clocks. Imports nothing else of dashcam."""
