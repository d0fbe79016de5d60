"""The contract's topics as one kiosk sees them: what it publishes and what it listens to."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KioskTopics:
    root: str
    branch: str
    kiosk: str

    @property
    def _branch(self) -> str:
        return f"{self.root.strip('/')}/branches/{self.branch}"

    @property
    def _kiosk(self) -> str:
        return f"{self._branch}/kiosks/{self.kiosk}"

    # --- central to branch -------------------------------------------------------------------

    @property
    def bookings(self) -> str:
        return f"{self._branch}/bookings"

    @property
    def config(self) -> str:
        return f"{self._branch}/config"

    @property
    def commands(self) -> str:
        return f"{self._branch}/commands"

    @property
    def acks(self) -> str:
        return f"{self._kiosk}/acks"

    # --- branch to central -------------------------------------------------------------------

    @property
    def command_results(self) -> str:
        return f"{self._branch}/command-results"

    @property
    def events(self) -> str:
        return f"{self._kiosk}/events"

    @property
    def occupancy(self) -> str:
        return f"{self._branch}/occupancy"

    @property
    def status(self) -> str:
        return f"{self._kiosk}/status"

    @property
    def resync(self) -> str:
        return f"{self._kiosk}/resync"

    def subscriptions(self) -> tuple[str, ...]:
        return (self.bookings, self.config, self.commands, self.acks)

    def publications(self) -> tuple[str, ...]:
        return (self.events, self.occupancy, self.status, self.resync, self.command_results)
