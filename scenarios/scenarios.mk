# Scenario programs: one C file per TCP behaviour plus the helpers they
# share, linked into one binary.  The scenario table is collected by the
# linker (see SCENARIO() in scenario.h), so adding scenarios/<id>.c is all it
# takes to add a scenario.  Included by the top-level Makefile, which
# provides CC, CFLAGS and, optionally, WARNINGS, LDFLAGS and the Q/msg
# quiet-output helpers; everything is built under build/scenarios/.

SCENARIO_DIR := scenarios
SCENARIO_OUT := build/scenarios
SCENARIO_BIN := $(SCENARIO_OUT)/tcpwatch-scenario
SCENARIO_SRCS := $(sort $(wildcard $(SCENARIO_DIR)/*.c))
SCENARIO_OBJS := $(patsubst $(SCENARIO_DIR)/%.c,$(SCENARIO_OUT)/%.o,$(SCENARIO_SRCS))

$(SCENARIO_BIN): $(SCENARIO_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@

$(SCENARIO_OBJS): $(SCENARIO_OUT)/%.o: $(SCENARIO_DIR)/%.c | $(SCENARIO_OUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(WARNINGS) -D_GNU_SOURCE -MMD -MP -c $< -o $@

$(SCENARIO_OUT):
	$(Q)mkdir -p $@

-include $(SCENARIO_OBJS:.o=.d)
