/* Running ip(8) and nft(8), never through a shell. */
#ifndef TW_CMD_H
#define TW_CMD_H

#include <stdbool.h>

int cmd_run(int netns_fd, const char *const argv[], bool verbose);

#endif
