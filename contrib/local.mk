# owned by the contrib tooling (wireshark dissector, systemd units)
