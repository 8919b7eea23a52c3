/*
 * Faults on the path between the client and server namespaces: nft rules on
 * a veth pair, or holding packets in the userspace wire.  Every fault and
 * its removal is logged as a "netfault" action of the harness.
 */
#ifndef TW_NETFAULT_H
#define TW_NETFAULT_H

#include "harness.h"

enum fault {
	FAULT_DROP_TO_SERVER,
	FAULT_DROP_TO_CLIENT,
	FAULT_UNREACH_TO_SERVER,
	FAULT_COUNT,
};

int net_fault(struct run *r, enum fault f);
int net_restore(struct run *r);
int net_hold(struct run *r);
int net_release(struct run *r);

#endif
