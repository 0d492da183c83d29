# owned by the lincheck module
