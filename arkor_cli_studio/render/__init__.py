"""The only package that imports rich and asciichartpy."""
