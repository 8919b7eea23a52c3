# make soak: tcpwatch on a steady churn for SOAK_SECONDS (default 600) at
# SOAK_RATE connections/s; memory flat, maps bounded, nothing lost, counts
# exact (tests/soak/soak.py). Not part of make test.
SOAK_SECONDS ?= 600
SOAK_RATE    ?= 2000

.PHONY: soak
soak: tcpwatch $(OUTPUT)/bench/loadgen
	$(Q)$(PYTHON) tests/soak/soak.py --seconds $(SOAK_SECONDS) --rate $(SOAK_RATE)
