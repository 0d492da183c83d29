# owned by the clock module (src/clock/)
