# What the firmware keeps across restarts: the boot counter (and, in the
# simulator, the board's id). One small file each, replaced atomically.
import os


def _join(directory, name):
    if not directory or directory == "/":
        return "/" + name
    return directory.rstrip("/") + "/" + name


class FlashStore:
    def __init__(self, directory="/"):
        self.directory = directory

    def read_text(self, name, default=None):
        try:
            with open(_join(self.directory, name)) as f:
                return f.read().strip()
        except OSError:
            return default

    def write_text(self, name, text):
        path = _join(self.directory, name)
        tmp = path + ".new"
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, path)

    def next_boot_count(self):
        """Read, increment and store the boot counter; return the new value."""
        text = self.read_text("boot_count", "0")
        try:
            count = int(text)
        except ValueError:
            count = 0  # a torn or blank file: start again rather than refuse to boot
        count = (count + 1) & 0xFFFFFFFF
        self.write_text("boot_count", str(count))
        return count
