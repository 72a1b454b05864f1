"""Small pure helpers with no Django state: keys, grid paths, dotted paths, async twins."""
