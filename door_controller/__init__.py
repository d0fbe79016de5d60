"""door_controller."""
