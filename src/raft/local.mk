# owned by the Raft core
