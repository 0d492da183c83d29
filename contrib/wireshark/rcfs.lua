-- rcfs.lua: Wireshark / tshark dissector for the rcfs wire protocol.
--
-- A frame is a 16-byte big-endian header, then a protobuf (proto2) payload:
--
--   "RCFS" | version u8 | type u8 | flags u16 | request id u32 | payload length u32
--
-- On an authenticated connection (docs/security.md) flag 0x0002 (MAC) adds a
-- 40-byte trailer after the payload, not counted in the length: sequence u64
-- and an HMAC-SHA512-256 tag.  It is shown as such; the payload before it is
-- decoded as usual.  Flag 0x0004 (sealed) means the payload is encrypted: it
-- is shown as bytes.
--
-- The header is decoded here; the payload is handed to Wireshark's own
-- protobuf dissector with the message named by the type byte, so the fields
-- come straight from proto/rcfs.proto (nothing is duplicated here but the
-- type table).  See docs/protocol.md and docs/deploy.md.
--
-- Load:   tshark -X lua_script:contrib/wireshark/rcfs.lua ...
--         (or copy it to ~/.local/lib/wireshark/plugins/)
-- Schema: -o 'uat:protobuf_search_paths:"/path/to/rcfs/proto","TRUE"'
--         plus -o protobuf.preload_protos:TRUE -o protobuf.pbf_as_hf:TRUE to
--         filter on payload fields (pbf.rcfs.FileMeta.name == "a/b").
--
-- Traffic is found two ways: a heuristic on TCP (first 4 bytes "RCFS",
-- version 1), which then claims the whole conversation, so no port needs
-- setting; and the preference rcfs.tcp_port (default 7001, 0 = none), which
-- also puts rcfs in Decode As.  If another dissector owns the port you use,
-- set rcfs.tcp_port to it (or -o tcp.try_heuristic_first:TRUE).
--
-- Requests and responses are paired per TCP connection and direction by
-- request id: rcfs.response_in / rcfs.response_to / rcfs.time.

local rcfs = Proto("rcfs", "rcfs distributed file store")

local HEADER_LEN = 16
local VERSION = 1
local FLAG_RESPONSE = 0x0001
local FLAG_MAC = 0x0002
local FLAG_SEALED = 0x0004
local TRAILER_LEN = 40
-- No valid frame is this large (max_frame is at most chunk_size + 64 KiB,
-- chunk_size at most 5 MiB); a larger length means garbage, not a frame to
-- wait for.
local SANE_MAX = 64 * 1024 * 1024

-- enum MsgType in proto/rcfs.proto: type byte -> message name.
local msg_names = {
	[1]  = "Error",
	[2]  = "StatusRequest",
	[3]  = "StatusResponse",
	[16] = "ChunkPut",
	[17] = "ChunkPutResponse",
	[18] = "ChunkGet",
	[19] = "ChunkGetResponse",
	[20] = "FileCommit",
	[21] = "FileCommitResponse",
	[22] = "FileStat",
	[23] = "FileStatResponse",
	[24] = "FileList",
	[25] = "FileListResponse",
	[26] = "FileRemove",
	[27] = "FileRemoveResponse",
	[28] = "MemberRequest",
	[29] = "MemberResponse",
	[30] = "BackupGet",
	[31] = "BackupGetResponse",
	[32] = "FileRename",
	[33] = "FileRenameResponse",
	[64] = "PeerHello",
	[66] = "RaftMessage",
	[80] = "AuthHello",
	[81] = "AuthChallenge",
	[82] = "AuthProof",
	[83] = "AuthOk",
}

local f = {
	magic      = ProtoField.string("rcfs.magic", "Magic", base.ASCII),
	version    = ProtoField.uint8("rcfs.version", "Version", base.DEC),
	msgtype    = ProtoField.uint8("rcfs.type", "Message type", base.DEC, msg_names),
	msgname    = ProtoField.string("rcfs.msg", "Message", base.ASCII,
	                               "Message name (rcfs.<name> in proto/rcfs.proto)"),
	flags      = ProtoField.uint16("rcfs.flags", "Flags", base.HEX),
	f_response = ProtoField.bool("rcfs.flags.response", "Response", 16,
	                             { "Response", "Request" }, FLAG_RESPONSE),
	f_mac      = ProtoField.bool("rcfs.flags.mac", "MAC trailer", 16, nil, FLAG_MAC),
	f_sealed   = ProtoField.bool("rcfs.flags.sealed", "Encrypted payload", 16, nil, FLAG_SEALED),
	f_reserved = ProtoField.uint16("rcfs.flags.reserved", "Reserved", base.HEX, nil, 0xfff8),
	seq        = ProtoField.uint64("rcfs.seq", "Sequence", base.DEC),
	mac        = ProtoField.bytes("rcfs.mac", "MAC (HMAC-SHA512-256)"),
	request_id = ProtoField.uint32("rcfs.request_id", "Request id", base.DEC),
	length     = ProtoField.uint32("rcfs.length", "Payload length", base.DEC),
	payload    = ProtoField.bytes("rcfs.payload", "Payload"),
	response_in = ProtoField.framenum("rcfs.response_in", "Response in", base.NONE,
	                                  frametype.RESPONSE),
	response_to = ProtoField.framenum("rcfs.response_to", "Response to", base.NONE,
	                                  frametype.REQUEST),
	time       = ProtoField.relative_time("rcfs.time", "Time since request"),
}
rcfs.fields = f

local e = {
	bad_magic   = ProtoExpert.new("rcfs.bad_magic", "Not an rcfs frame (bad magic)",
	                              expert.group.MALFORMED, expert.severity.ERROR),
	bad_version = ProtoExpert.new("rcfs.bad_version", "Unknown protocol version",
	                              expert.group.PROTOCOL, expert.severity.WARN),
	bad_type    = ProtoExpert.new("rcfs.bad_type", "Unknown message type",
	                              expert.group.PROTOCOL, expert.severity.WARN),
	too_long    = ProtoExpert.new("rcfs.too_long", "Payload length beyond any max_frame",
	                              expert.group.MALFORMED, expert.severity.ERROR),
	error_msg   = ProtoExpert.new("rcfs.error", "rcfs Error response",
	                              expert.group.RESPONSE_CODE, expert.severity.NOTE),
	no_protobuf = ProtoExpert.new("rcfs.no_protobuf", "Wireshark has no protobuf dissector: payload not decoded",
	                              expert.group.UNDECODED, expert.severity.NOTE),
}
rcfs.experts = { e.bad_magic, e.bad_version, e.bad_type, e.too_long, e.error_msg, e.no_protobuf }

rcfs.prefs.tcp_port = Pref.uint("TCP port", 7001,
	"TCP port of rcfs nodes (0: none).  The heuristic finds rcfs on any port; " ..
	"this is for ports another dissector claims first.")
rcfs.prefs.protobuf = Pref.bool("Decode payloads with the protobuf dissector", true,
	"Needs proto/rcfs.proto in the protobuf search paths")

local tcp_stream = Field.new("tcp.stream")

-- Request/response pairing, filled on the first pass.
local pending = {}   -- "stream|requester|id" -> { frame=, time= }
local pairs_of = {}  -- "frame|id" -> { other=frame, time=seconds or nil }

function rcfs.init()
	pending = {}
	pairs_of = {}
end

local protobuf_handle
local function protobuf()
	if protobuf_handle == nil then
		local okay, h = pcall(Dissector.get, "protobuf")
		protobuf_handle = (okay and h) or false
	end
	return protobuf_handle
end

local function pdu_len(tvb, pinfo, offset)
	if tvb:len() - offset < HEADER_LEN then
		return HEADER_LEN
	end
	if tvb(offset, 4):string() ~= "RCFS" then
		-- Not a frame start: take the rest so it is shown as garbage, not
		-- waited on.
		return tvb:len() - offset
	end
	local len = tvb(offset + 12, 4):uint()
	if len > SANE_MAX then
		return HEADER_LEN
	end
	if bit32.band(tvb(offset + 6, 2):uint(), FLAG_MAC) ~= 0 then
		len = len + TRAILER_LEN
	end
	return HEADER_LEN + len
end

local function endpoint(addr, port)
	return tostring(addr) .. ":" .. tostring(port)
end

local function pair(pinfo, tree, is_response, id)
	local fi = tcp_stream()
	if fi == nil then
		return
	end
	local stream = tostring(fi.value)
	-- The requester: the sender of a request, the receiver of a response.
	local requester = is_response and endpoint(pinfo.dst, pinfo.dst_port)
	                              or endpoint(pinfo.src, pinfo.src_port)
	local key = stream .. "|" .. requester .. "|" .. id
	local self_key = pinfo.number .. "|" .. id
	if not pinfo.visited then
		if is_response then
			local req = pending[key]
			if req ~= nil then
				pending[key] = nil
				pairs_of[self_key] = { other = req.frame, time = pinfo.abs_ts - req.time }
				pairs_of[req.frame .. "|" .. id] = { other = pinfo.number }
			end
		else
			pending[key] = { frame = pinfo.number, time = pinfo.abs_ts }
		end
	end
	local p = pairs_of[self_key]
	if p ~= nil then
		if is_response then
			tree:add(f.response_to, p.other):set_generated()
			tree:add(f.time, NSTime(math.floor(p.time), math.floor((p.time % 1) * 1e9 + 0.5)))
				:set_generated()
		else
			tree:add(f.response_in, p.other):set_generated()
		end
	end
end

-- One whole frame (header + payload) in tvb.
local function dissect_frame(tvb, pinfo, root)
	local len = tvb:len()
	local tree = root:add(rcfs, tvb())
	pinfo.cols.protocol = "RCFS"

	if tvb(0, 4):string() ~= "RCFS" then
		tree:add_proto_expert_info(e.bad_magic)
		tree:append_text(": garbage, " .. len .. " bytes")
		pinfo.cols.info = string.format("[not an rcfs frame: %d bytes]", len)
		return len
	end

	local version = tvb(4, 1):uint()
	local mtype   = tvb(5, 1):uint()
	local flags   = tvb(6, 2):uint()
	local id      = tvb(8, 4):uint()
	local plen    = tvb(12, 4):uint()
	local name    = msg_names[mtype]
	local is_response = bit32.band(flags, FLAG_RESPONSE) ~= 0

	tree:add(f.magic, tvb(0, 4))
	local vitem = tree:add(f.version, tvb(4, 1))
	if version ~= VERSION then
		vitem:add_proto_expert_info(e.bad_version)
	end
	local titem = tree:add(f.msgtype, tvb(5, 1))
	if name == nil then
		titem:add_proto_expert_info(e.bad_type)
	end
	tree:add(f.msgname, tvb(5, 1), name or ("type " .. mtype)):set_generated()
	local fitem = tree:add(f.flags, tvb(6, 2))
	fitem:add(f.f_response, tvb(6, 2))
	fitem:add(f.f_mac, tvb(6, 2))
	fitem:add(f.f_sealed, tvb(6, 2))
	fitem:add(f.f_reserved, tvb(6, 2))
	local has_mac = bit32.band(flags, FLAG_MAC) ~= 0
	local sealed = bit32.band(flags, FLAG_SEALED) ~= 0
	local body_len = len - HEADER_LEN
	if has_mac and body_len >= TRAILER_LEN then
		body_len = body_len - TRAILER_LEN
	end
	tree:add(f.request_id, tvb(8, 4))
	local litem = tree:add(f.length, tvb(12, 4))

	local label = name or ("type " .. mtype)
	tree:append_text(string.format(", %s, id %d%s, %d bytes", label, id,
	                               is_response and " (response)" or "", plen))
	if name == "Error" then
		tree:add_proto_expert_info(e.error_msg)
	end

	if plen > SANE_MAX then
		litem:add_proto_expert_info(e.too_long)
	elseif plen > 0 and body_len > 0 then
		local payload = tvb(HEADER_LEN, body_len):tvb()
		local pb = protobuf()
		if name ~= nil and rcfs.prefs.protobuf and pb and not sealed then
			pinfo.private["pb_msg_type"] = "message,rcfs." .. name
			local okay = pcall(function() pb:call(payload, pinfo, tree) end)
			if not okay then
				tree:add(f.payload, payload())
			end
		else
			local pitem = tree:add(f.payload, payload())
			if name ~= nil and not pb then
				pitem:add_proto_expert_info(e.no_protobuf)
			end
		end
	end

	if has_mac and len - HEADER_LEN - body_len == TRAILER_LEN then
		local t = HEADER_LEN + body_len
		tree:add(f.seq, tvb(t, 8))
		tree:add(f.mac, tvb(t + 8, 32))
	end

	pair(pinfo, tree, is_response, id)

	-- Info column: every frame of this packet, "FileCommit id=4, ...".  Set
	-- (not appended) so the protobuf dissector's own text does not pile up.
	local so_far = pinfo.private["rcfs_info"]
	local this = string.format("%s id=%d", label, id)
	local info = so_far and (so_far .. ", " .. this) or this
	pinfo.private["rcfs_info"] = info
	pinfo.cols.protocol = "RCFS"
	pinfo.cols.info = info
	return len
end

function rcfs.dissector(tvb, pinfo, tree)
	if tvb:len() < 4 then
		-- Too short to tell; ask for the rest of the header.
		pinfo.desegment_offset = 0
		pinfo.desegment_len = DESEGMENT_ONE_MORE_SEGMENT
		return tvb:len()
	end
	dissect_tcp_pdus(tvb, tree, HEADER_LEN, pdu_len, dissect_frame, true)
	return tvb:len()
end

local function heuristic(tvb, pinfo, tree)
	if tvb:len() < 5 or tvb(0, 4):string() ~= "RCFS" or tvb(4, 1):uint() ~= VERSION then
		return false
	end
	-- Claim the connection: later segments need not start with a frame.
	pinfo.conversation = rcfs
	rcfs.dissector(tvb, pinfo, tree)
	return true
end
rcfs:register_heuristic("tcp", heuristic)

local tcp_table = DissectorTable.get("tcp.port")
local registered_port = 0

local function apply_port()
	if registered_port ~= 0 then
		tcp_table:remove(registered_port, rcfs)
		registered_port = 0
	end
	if rcfs.prefs.tcp_port ~= 0 then
		registered_port = rcfs.prefs.tcp_port
		tcp_table:add(registered_port, rcfs)
	end
end

function rcfs.prefs_changed()
	if rcfs.prefs.tcp_port ~= registered_port then
		apply_port()
	end
end

tcp_table:add_for_decode_as(rcfs)
apply_port()
