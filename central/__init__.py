"""The reference central: bookings and branch settings out to the branches, events in."""
