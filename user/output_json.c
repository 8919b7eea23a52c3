// SPDX-License-Identifier: GPL-2.0
/* --json: one object per line (JSON Lines). The schema is in README.md. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "json.h"
#include "names.h"
#include "output.h"

static const char *const owner_how[] = {
	[TW_OWNER_NONE] = "unknown",
	[TW_OWNER_CONNECT] = "connect",
	[TW_OWNER_LISTEN] = "listen",
	[TW_OWNER_LISTENER] = "listener",
	[TW_OWNER_FD] = "fd",
	[TW_OWNER_TUPLE] = "tuple",
};

static void json_kv_str(FILE *f, const char *key, const char *val)
{
	fprintf(f, ",\"%s\":", key);
	json_write_str(f, val, strlen(val));
}

static void json_endpoints(FILE *f, const struct tw_event *e)
{
	char a[64];

	fprintf(f, ",\"family\":\"%s\"", e->family == AF_INET6 ? "AF_INET6" : "AF_INET");
	addr_str(a, sizeof(a), e->family, e->saddr);
	fprintf(f, ",\"saddr\":\"%s\",\"sport\":%u", a, e->sport);
	addr_str(a, sizeof(a), e->family, e->daddr);
	fprintf(f, ",\"daddr\":\"%s\",\"dport\":%u", a, e->dport);
}

static void json_owner(FILE *f, const struct tw_event *e)
{
	if (!e->pid) {
		fputs(",\"pid\":null,\"comm\":null,\"owner\":\"unknown\"", f);
		return;
	}
	fprintf(f, ",\"pid\":%u,\"comm\":", e->pid);
	json_write_str(f, e->comm, TW_COMM_LEN);
	fprintf(f, ",\"owner\":\"%s\"",
		e->owner_how < sizeof(owner_how) / sizeof(owner_how[0]) &&
		owner_how[e->owner_how] ? owner_how[e->owner_how] : "unknown");
}

static void json_details(FILE *f, const struct tw_event *e)
{
	const char *reason;
	char tmp[32];

	switch (e->type) {
	case TW_EV_STATE:
		fprintf(f, ",\"old\":\"%s\",\"new\":\"%s\"",
			tcp_state_name(e->oldstate), tcp_state_name(e->newstate));
		return;
	case TW_EV_RST_SENT:
		reason = rst_reason_name(e->reason);
		if (!(e->flags & TW_F_HAS_REASON))
			fputs(",\"reason\":null", f);
		else if (reason)
			json_kv_str(f, "reason", reason);
		else
			fprintf(f, ",\"reason\":\"%u\"", e->reason);
		fprintf(f, ",\"no_socket\":%s,\"timewait\":%s",
			e->flags & TW_F_NO_SK ? "true" : "false",
			e->flags & TW_F_TIMEWAIT_SK ? "true" : "false");
		if (!(e->flags & TW_F_NO_SK))
			fprintf(f, ",\"state\":\"%s\"", tcp_state_name(e->oldstate));
		return;
	case TW_EV_RETRANS:
	case TW_EV_SYNACK_RETRANS:
		fprintf(f, ",\"count\":%d", e->value);
		break;
	case TW_EV_ERROR:
		fprintf(f, ",\"errno\":\"%s\",\"errno_num\":%d",
			errno_name(e->value, tmp, sizeof(tmp)), e->value);
		break;
	default:
		break;
	}
	fprintf(f, ",\"state\":\"%s\"", tcp_state_name(e->oldstate));
}

void json_event(struct tw_output *out, const struct tw_event *e)
{
	FILE *f = out->f;
	char when[48];

	clock_str(when, sizeof(when), out, e->ts_ns, true);
	fprintf(f, "{\"type\":\"%s\",\"ts_ns\":%llu,\"time\":\"%s\"",
		event_type_name(e->type), (unsigned long long)e->ts_ns, when);
	json_owner(f, e);
	json_endpoints(f, e);
	json_details(f, e);
	fprintf(f, ",\"sk\":\"0x%llx\",\"netns\":%u,\"cpu_pid\":%u}\n",
		(unsigned long long)e->skaddr, e->netns, e->cpu_pid);
}

void json_lost(struct tw_output *out, __u64 now_ns, __u64 lost, __u64 total)
{
	fprintf(out->f, "{\"type\":\"lost\",\"ts_ns\":%llu,\"count\":%llu,\"total\":%llu}\n",
		(unsigned long long)now_ns, (unsigned long long)lost,
		(unsigned long long)total);
}

void json_summary(struct tw_output *out, const struct tw_stats *st)
{
	FILE *f = out->f;

	fprintf(f, "{\"type\":\"summary\",\"events\":%llu,\"by_type\":{",
		(unsigned long long)st->events);
	for (int t = 1; t < TW_EV_MAX; t++)
		fprintf(f, "%s\"%s\":%llu", t > 1 ? "," : "", event_type_name(t),
			(unsigned long long)st->by_type[t]);
	fprintf(f, "},\"lost\":%llu,\"filtered\":%llu,\"malformed\":%llu}\n",
		(unsigned long long)st->lost, (unsigned long long)st->filtered,
		(unsigned long long)st->malformed);
}

/* An action log line, re-encoded field by field (never passed through). */
void json_action(struct tw_output *out, const struct jobject *o, __u64 ts_ns)
{
	FILE *f = out->f;

	fprintf(f, "{\"type\":\"action\",\"ts_ns\":%llu", (unsigned long long)ts_ns);
	for (int i = 0; i < o->n; i++) {
		const struct jfield *fl = &o->f[i];

		if (!strcmp(fl->key, "type") || !strcmp(fl->key, "ts_ns"))
			continue;
		fputc(',', f);
		json_write_str(f, fl->key, sizeof(fl->key));
		fputc(':', f);
		switch (fl->type) {
		case J_STR:
			json_write_str(f, fl->str, sizeof(fl->str));
			break;
		case J_NUM:
			if (fl->is_int)
				fprintf(f, "%lld", fl->i);
			else
				fprintf(f, "%.17g", fl->num);
			break;
		case J_BOOL:
			fputs(fl->b ? "true" : "false", f);
			break;
		case J_NULL:
			fputs("null", f);
			break;
		}
	}
	fputs("}\n", f);
}

void json_scenario(struct tw_output *out, const char *name, int status,
		   const struct tw_stats *st)
{
	fputs("{\"type\":\"scenario\",\"name\":", out->f);
	json_write_str(out->f, name, strlen(name));
	fprintf(out->f, ",\"status\":%d,\"as_expected\":%s,\"events\":%llu,"
		"\"lost\":%llu}\n", status, status ? "false" : "true",
		(unsigned long long)st->events, (unsigned long long)st->lost);
}
