"""The deploy channel: the seed's shared-page protocol inside the simulation, and the wire protocol outside it."""  # noqa: E501 - the one-line summary
