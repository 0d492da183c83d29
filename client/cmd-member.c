/* rcfs member list|add|promote|remove|move-leader: the cluster's membership
 * (docs/operations.md).  Changes go to the leader, one at a time. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/client.h"
#include "util/config.h"

static int cmd_member_exec(struct client *cl, int argc, char **argv);

const struct client_cmd cmd_member_entry = {
	.name = "member",
	.usage = "member list [--json] | add [--learner|--voter|--storage] ID HOST:PORT | "
	    "promote ID | remove [--force] ID | move-leader [ID]",
	.exec = cmd_member_exec,
};

/* One member request to the leader (client_call follows the leader hint). */
static int
member_call(struct client *cl, Rcfs__MemberOp op, uint64_t id, const char *address,
    const char *role, bool force, Rcfs__MemberResponse **resp)
{
	Rcfs__MemberRequest req = RCFS__MEMBER_REQUEST__INIT;

	req.has_op = 1;
	req.op = op;
	if (id != 0) {
		req.has_id = 1;
		req.id = id;
	}
	req.address = (char *)address;
	req.role = (char *)role;
	if (force)
		req.has_force = req.force = 1;
	return client_call_patient(cl, RCFS__MSG_TYPE__MSG_MEMBER, &req.base,
	    RCFS__MSG_TYPE__MSG_MEMBER_RESP, (ProtobufCMessage **)resp);
}

/* The chunks a member holds, from its own status (a short, single try);
 * -1 if it does not answer. */
static int64_t
member_chunks(struct client *cl, const char *address)
{
	Rcfs__StatusResponse *resp;
	int64_t chunks = -1;

	if (client_ask_status(cl, address, 1000, &resp) == 0) {
		if (resp->nodes[0]->has_chunks_held)
			chunks = (int64_t)resp->nodes[0]->chunks_held;
		rcfs__status_response__free_unpacked(resp, NULL);
	}
	return chunks;
}

static void
member_print(struct client *cl, const Rcfs__MemberResponse *resp)
{
	if (cl->json) {
		printf("{\"members\":[");
		for (size_t i = 0; i < resp->n_members; i++) {
			const Rcfs__Member *m = resp->members[i];
			int64_t chunks = member_chunks(cl, m->address ? m->address : "");
			printf("%s{\"id\":%llu,\"address\":", i ? "," : "", (unsigned long long)m->id);
			client_json_str(stdout, m->address ? m->address : "");
			printf(",\"role\":\"%s\",\"state\":\"%s\",\"reachable\":%s,\"admitted\":%s",
			    m->role ? m->role : "?", m->state ? m->state : "?",
			    m->reachable ? "true" : "false", m->admitted ? "true" : "false");
			printf(",\"leader\":%s", m->id == resp->leader_id ? "true" : "false");
			if (m->has_match_index)
				printf(",\"match_index\":%llu,\"lag\":%llu", (unsigned long long)m->match_index,
				    (unsigned long long)m->lag);
			if (chunks >= 0)
				printf(",\"chunks\":%lld", (long long)chunks);
			else
				printf(",\"chunks\":null");
			printf("}");
		}
		printf("],\"leader_id\":%llu}\n", (unsigned long long)resp->leader_id);
		return;
	}
	printf("%-4s %-22s %-8s %-9s %-9s %8s %8s\n", "ID", "ADDRESS", "ROLE", "STATE", "REACHABLE",
	    "LAG", "CHUNKS");
	for (size_t i = 0; i < resp->n_members; i++) {
		const Rcfs__Member *m = resp->members[i];
		int64_t chunks = member_chunks(cl, m->address ? m->address : "");
		char lag[24] = "-", ch[24] = "-";
		if (m->has_lag)
			snprintf(lag, sizeof lag, "%llu", (unsigned long long)m->lag);
		if (chunks >= 0)
			snprintf(ch, sizeof ch, "%lld", (long long)chunks);
		printf("%-4llu %-22s %-8s %-9s %-9s %8s %8s%s\n", (unsigned long long)m->id,
		    m->address ? m->address : "", m->role ? m->role : "?", m->state ? m->state : "?",
		    m->reachable ? "yes" : "no", lag, ch, m->id == resp->leader_id ? "  (leader)" : "");
	}
}

static const Rcfs__Member *
member_find(const Rcfs__MemberResponse *resp, uint64_t id)
{
	for (size_t i = 0; i < resp->n_members; i++)
		if (resp->members[i]->id == id)
			return resp->members[i];
	return NULL;
}

static int
member_parse_id(struct client *cl, const char *s, uint64_t *id)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (end == s || *end != '\0' || v == 0 || s[0] == '-')
		return client_fail(cl, EX_RCFS_USAGE, "member id '%s' is not a number >= 1", s);
	*id = v;
	return 0;
}

/* The one line a change prints (or its JSON). */
static void
member_said(struct client *cl, const Rcfs__MemberResponse *resp, uint64_t id, const char *message)
{
	if (cl->json) {
		printf("{\"id\":%llu,\"message\":", (unsigned long long)id);
		client_json_str(stdout, message ? message : "");
		if (resp->has_index)
			printf(",\"index\":%llu", (unsigned long long)resp->index);
		printf(",\"leader_id\":%llu}\n", (unsigned long long)resp->leader_id);
	} else if (!cl->quiet) {
		printf("%s\n", message ? message : "done");
	}
}

/* member add --voter: wait until the leader promoted the learner. */
static int
member_wait_voter(struct client *cl, uint64_t id)
{
	uint64_t deadline = client_now_ms() + (uint64_t)cl->timeout_ms;
	uint64_t lag = 0;

	while (client_now_ms() < deadline) {
		Rcfs__MemberResponse *resp;
		const Rcfs__Member *m;
		if (member_call(cl, RCFS__MEMBER_OP__MEMBER_LIST, 0, NULL, NULL, false, &resp) != 0)
			return EX_RCFS_UNAVAILABLE;
		m = member_find(resp, id);
		if (m != NULL && m->role != NULL && strcmp(m->role, "voter") == 0) {
			rcfs__member_response__free_unpacked(resp, NULL);
			return 0;
		}
		lag = m != NULL ? m->lag : 0;
		rcfs__member_response__free_unpacked(resp, NULL);
		usleep(100 * 1000);
	}
	return client_fail(cl, EX_RCFS_UNAVAILABLE, "node %llu was added as a learner but is not "
	    "promoted yet: still catching up (%llu entries behind); it is promoted once caught up",
	    (unsigned long long)id, (unsigned long long)lag);
}

static int
cmd_member_exec(struct client *cl, int argc, char **argv)
{
	Rcfs__MemberResponse *resp = NULL;
	const char *sub, *role = NULL, *args[3];
	bool force = false;
	uint64_t id = 0;
	int nargs = 0, rv;

	if (argc < 1)
		return client_fail(cl, EX_RCFS_USAGE, "usage: rcfs %s", cmd_member_entry.usage);
	sub = argv[0];
	cl->target = sub;
	for (int i = 1; i < argc; i++) {
		if (!client_is_option(cl, i, argv[i])) {
			if (nargs == 3)
				return client_fail(cl, EX_RCFS_USAGE, "usage: rcfs %s", cmd_member_entry.usage);
			args[nargs++] = argv[i];
		} else if (strcmp(argv[i], "--json") == 0)
			cl->json = true;
		else if (strcmp(argv[i], "--force") == 0 && strcmp(sub, "remove") == 0)
			force = true;
		else if ((strcmp(argv[i], "--learner") == 0 || strcmp(argv[i], "--voter") == 0 ||
		    strcmp(argv[i], "--storage") == 0) && strcmp(sub, "add") == 0)
			role = argv[i] + 2;
		else if (argv[i][0] == '-' && argv[i][1] != '\0')
			return client_fail(cl, EX_RCFS_USAGE, "unknown option %s (usage: rcfs %s)", argv[i],
			    cmd_member_entry.usage);
		else if (nargs < 3)
			args[nargs++] = argv[i];
		else
			return client_fail(cl, EX_RCFS_USAGE, "usage: rcfs %s", cmd_member_entry.usage);
	}
	if (strcmp(sub, "list") == 0 && nargs == 0) {
		if ((rv = member_call(cl, RCFS__MEMBER_OP__MEMBER_LIST, 0, NULL, NULL, false, &resp)) != 0)
			return rv;
		member_print(cl, resp);
		rcfs__member_response__free_unpacked(resp, NULL);
		return 0;
	}
	if (strcmp(sub, "add") == 0 && nargs == 2) {
		char host[256];
		uint16_t port;
		if ((rv = member_parse_id(cl, args[0], &id)) != 0)
			return rv;
		if (config_split_hostport(args[1], host, sizeof host, &port) != 0 || port == 0)
			return client_fail(cl, EX_RCFS_USAGE, "member address '%s' is not HOST:PORT", args[1]);
		if ((rv = member_call(cl, RCFS__MEMBER_OP__MEMBER_ADD, id, args[1],
		    role ? role : "learner", false, &resp)) != 0)
			return rv;
		if (role != NULL && strcmp(role, "voter") == 0) {
			rcfs__member_response__free_unpacked(resp, NULL);
			if ((rv = member_wait_voter(cl, id)) != 0)
				return rv;
			if ((rv = member_call(cl, RCFS__MEMBER_OP__MEMBER_LIST, 0, NULL, NULL, false,
			    &resp)) != 0)
				return rv;
			{
				char line[128];
				snprintf(line, sizeof line, "node %llu added at %s and promoted to voter",
				    (unsigned long long)id, args[1]);
				member_said(cl, resp, id, line);
			}
		} else {
			member_said(cl, resp, id, resp->message);
		}
		rcfs__member_response__free_unpacked(resp, NULL);
		return 0;
	}
	if ((strcmp(sub, "promote") == 0 || strcmp(sub, "remove") == 0) && nargs == 1) {
		if ((rv = member_parse_id(cl, args[0], &id)) != 0)
			return rv;
		if ((rv = member_call(cl, strcmp(sub, "promote") == 0 ? RCFS__MEMBER_OP__MEMBER_PROMOTE
		    : RCFS__MEMBER_OP__MEMBER_REMOVE, id, NULL, NULL, force, &resp)) != 0)
			return rv;
		member_said(cl, resp, id, resp->message);
		rcfs__member_response__free_unpacked(resp, NULL);
		return 0;
	}
	if (strcmp(sub, "move-leader") == 0 && nargs <= 1) {
		if (nargs == 1 && (rv = member_parse_id(cl, args[0], &id)) != 0)
			return rv;
		if ((rv = member_call(cl, RCFS__MEMBER_OP__MEMBER_MOVE_LEADER, id, NULL, NULL, false,
		    &resp)) != 0)
			return rv;
		member_said(cl, resp, id, resp->message);
		rcfs__member_response__free_unpacked(resp, NULL);
		return 0;
	}
	return client_fail(cl, EX_RCFS_USAGE, "usage: rcfs %s", cmd_member_entry.usage);
}
