"""Central operations: the live occupancy of every branch, for the staff who watch them all.

``central ops`` subscribes to the contract's retained occupancy and kiosk status topics and to
the kiosks' events, keeps a read model of every branch (``model``), today's history in a small
SQLite file (``history``), and serves one live page, a Prometheus endpoint and, when enabled,
Home Assistant discovery. Operators' actions go out as contract commands.
"""
