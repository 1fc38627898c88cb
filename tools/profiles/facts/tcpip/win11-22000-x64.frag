# Facts for Windows 11 21H2-23H2 (22000, 22621, 22631) x64.  The base is
# Volatility 3's 20348 layout, which Volatility 3 itself falls back to for
# these builds without having checked them.
source ufrisk/MemProcFS vmm/vmmnet.c @c3aa81068d7311b473625846175228a32e062a94
source bitdefender/hvmi introcore/src/guests/windows/winnet.c @35a58459a7c5f37538556b3394bee04b1effc31c
source volatilityfoundation/volatility3 volatility3/framework/symbols/windows/netscan/netscan-win10-20348-x64.json @a1961401d52db56f310675d8cd4af09e3d9e4139 (fallback base)

# MemProcFS takes the TCB state at 0x70 (ports at +4/+6) on 22000 and later
# when the dword there is a TCP state, else 0x6c; Volatility 3's fallback
# says 0x6c.  Chosen: MemProcFS, the only source that looked at Windows 11.
struct _TCP_ENDPOINT 0x0
field _TCP_ENDPOINT State 0x70 0x4
field _TCP_ENDPOINT LocalPort 0x74 0x2
field _TCP_ENDPOINT RemotePort 0x76 0x2

# Unchanged from 20348 but confirmed by other sources for 22000+:
# partition stride 0xc0 with the TCB table at +8 (MemProcFS "1903 and
# above" walk; hvmi +pointer size); assignment entries 0x20 with the chain
# head at +0x10 (MemProcFS after 18363; hvmi 19041 and later), table at
# InPA+0x18 (hvmi 19041+ x64).  TcpL/UdpA: MemProcFS's offsets for
# 10240-26099 and 19041-26099 equal the 20348 layout.
struct _PARTITION 0xc0
field _PARTITION Endpoints 0x8 0x8
struct _PORT_ASSIGNMENT_ENTRY 0x20
field _PORT_ASSIGNMENT_ENTRY Entry 0x10 0x8
struct _PORT_ASSIGNMENT 0x20
field _PORT_ASSIGNMENT InPaBigPoolBase 0x18 0x8

# Still only from the 20348 fallback: TcpE Owner 0x2f0 and CreateTime 0x308
# (MemProcFS finds Owner by search and takes the time at Owner+0x10), and
# _INET_PORT_POOL.PortAssignments 0xe0 (MemProcFS searches 0xa0-0x100).

# TIME_WAIT (TcTW, Windows 10 and later x64): MemProcFS's offsets from the
# block body, which is where the hash-table link points: InetAF 0x30,
# ports 0x4a/0x4c, local address 0x50, the remote address bytes inline at
# 0x58 (16 bytes), CreateTime 0x98; 0xa0 bytes read.
struct _TCP_TIMEWAIT_ENDPOINT 0xa0
field _TCP_TIMEWAIT_ENDPOINT ListEntry 0x0 0x10
field _TCP_TIMEWAIT_ENDPOINT InetAF 0x30 0x8
field _TCP_TIMEWAIT_ENDPOINT LocalPort 0x4a 0x2
field _TCP_TIMEWAIT_ENDPOINT RemotePort 0x4c 0x2
field _TCP_TIMEWAIT_ENDPOINT LocalAddr 0x50 0x8
field _TCP_TIMEWAIT_ENDPOINT RemoteAddressInline 0x58 0x10
field _TCP_TIMEWAIT_ENDPOINT CreateTime 0x98 0x8
