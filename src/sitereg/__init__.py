"""sitereg: real-name and wage records for construction projects."""
