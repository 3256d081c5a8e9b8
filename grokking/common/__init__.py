"""What several stages share and none owns: atomic file writes (io), the assets format between
extraction and the figures and scenes (assets), the colours of print and video (palette)."""
