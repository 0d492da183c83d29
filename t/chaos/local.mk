# owned by the chaos tests (t/chaos/)
