/*
 * A userspace wire between two tun devices that can hold packets, because
 * nft can only drop them and this kernel has neither netem nor sch_plug.
 */
#ifndef TW_WIRE_H
#define TW_WIRE_H

#include <sys/types.h>

enum wire_cmd {
	WIRE_HOLD = 'H',
	WIRE_RELEASE = 'R',
};

pid_t wire_start(int client_tun, int server_tun, int *ctl, int *ack);
int wire_command(int ctl, int ack, enum wire_cmd cmd);

#endif
