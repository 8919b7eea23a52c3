/*
 * Faults between the namespaces: nft rules in the server's namespace (a
 * table of our own, deleted to restore the path) and, on the wire, holding
 * packets.  The firewall of the namespace tcpwatch runs in is never touched.
 */
#include <stdio.h>

#include "cmd.h"
#include "netfault.h"
#include "ops.h"
#include "wire.h"

#define NFT_TABLE	"ip tcpwatch"

struct fault_rule {
	const char *what;	/* logged as the netfault's arg */
	enum role_id side;	/* the namespace holding the rule */
	const char *hook;
	const char *rule;
};

static const struct fault_rule fault_rules[FAULT_COUNT] = {
	[FAULT_DROP_TO_SERVER] = {
		.what = "drop client->server",
		.side = ROLE_SERVER,
		.hook = "input",
		.rule = "ip protocol tcp drop",
	},
	/* Dropped as it leaves: the server's stack still sends and retransmits. */
	[FAULT_DROP_TO_CLIENT] = {
		.what = "drop server->client",
		.side = ROLE_SERVER,
		.hook = "output",
		.rule = "ip protocol tcp drop",
	},
	[FAULT_UNREACH_TO_SERVER] = {
		.what = "reject client->server with icmp host-unreachable",
		.side = ROLE_SERVER,
		.hook = "input",
		.rule = "ip protocol tcp reject with icmp type host-unreachable",
	},
};

static int nft(struct run *r, enum role_id side, const char *script)
{
	if (!cmd_run(r->net.fd[side], (const char *[]){ "nft", script, NULL },
		     r->verbose))
		return 0;
	r->setup_failed = true;
	return -1;
}

int net_fault(struct run *r, enum fault f)
{
	const struct fault_rule *fr = &fault_rules[f];
	uint64_t ts = now_ns();
	char script[256];
	int ret;

	snprintf(script, sizeof(script),
		 "add table " NFT_TABLE "; "
		 "add chain " NFT_TABLE " %s { type filter hook %s priority 0; }; "
		 "add rule " NFT_TABLE " %s %s",
		 fr->hook, fr->hook, fr->hook, fr->rule);
	ret = nft(r, fr->side, script);
	op_record(r, "netfault", fr->what, ts, ret, 0);
	r->net.faulted = !ret;
	return ret;
}

int net_restore(struct run *r)
{
	uint64_t ts = now_ns();
	int ret;

	if (r->net.held && net_release(r))
		return -1;
	if (!r->net.faulted)
		return 0;
	/* "add" first so that the delete cannot fail on a missing table. */
	ret = nft(r, ROLE_CLIENT, "add table " NFT_TABLE "; delete table " NFT_TABLE);
	ret |= nft(r, ROLE_SERVER, "add table " NFT_TABLE "; delete table " NFT_TABLE);
	op_record(r, "netfault", "restore", ts, ret, 0);
	r->net.faulted = false;
	return ret;
}

static int wire(struct run *r, enum wire_cmd cmd, const char *what)
{
	uint64_t ts = now_ns();
	int ret;

	ret = wire_command(r->net.wire_ctl, r->net.wire_ack, cmd);
	op_record(r, "netfault", what, ts, ret, 0);
	if (ret)
		return setup_error(r, "the wire did not confirm '%s'", what);
	r->net.held = cmd == WIRE_HOLD;
	return 0;
}

int net_hold(struct run *r)
{
	return wire(r, WIRE_HOLD, "hold client<->server");
}

int net_release(struct run *r)
{
	return wire(r, WIRE_RELEASE, "release client<->server");
}
