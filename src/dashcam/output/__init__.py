"""What a processed video leaves behind: metadata.json, crops, an HTML report, exports."""
