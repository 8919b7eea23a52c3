#include "vmlinux_x86_64_6.18.h"
