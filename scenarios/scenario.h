/*
 * What a scenario file provides and everything it may call.
 *
 * A scenario is one TCP behaviour: a harness function (the scenario's run
 * function) that prepares the network, forks a client and a server role and
 * injects faults, while the roles perform logged socket calls and check what
 * the application sees against what the behaviour predicts.
 */
#ifndef TW_SCENARIO_H
#define TW_SCENARIO_H

#include <errno.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include "diag.h"
#include "expect.h"
#include "harness.h"
#include "netfault.h"
#include "netns.h"
#include "ops.h"
#include "tcp.h"

struct scenario {
	const char *name;
	const char *summary;
	/* What to learn from it, and where the kernel disagrees with the catalogue. */
	const char *takeaway;
	enum net_kind net;
	/*
	 * Runs in the harness: sets the network up, forks the roles and
	 * drives the faults; the caller then waits for the roles and cleans up.
	 */
	void (*run)(struct run *r);
};

/*
 * Registers a scenario in the "tw_scenarios" section; the linker provides
 * __start_/__stop_ symbols around it, so no list of scenarios is maintained
 * by hand.
 */
#define SCENARIO(ident, ...)						\
	static const struct scenario ident##_scenario = { __VA_ARGS__ };	\
	static const struct scenario *const ident##_entry		\
	__attribute__((used, section("tw_scenarios"))) = &ident##_scenario

#endif
