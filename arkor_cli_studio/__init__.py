"""arkor-studio: Arkor Studio's training flows in the terminal."""

__version__ = "0.1.0"
CLIENT_NAME = "arkor-studio"
