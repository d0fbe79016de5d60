"""The kiosk's touch screen (Kivy): customer screens, staff mode, and their pure helpers.

Modules that import Kivy are ``app``, ``screens``, ``widgets`` and ``bridge``; everything else
here is plain Python (the code buffer, the PIN gate, the scanner buffer, the texts), so it can
be tested without a window.
"""
