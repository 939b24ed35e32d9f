"""A run you can talk to: the record bus, wall-clock pacing, the socket server and its clients."""
