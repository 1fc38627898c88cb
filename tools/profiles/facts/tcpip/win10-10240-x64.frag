# Facts completing netscan-win10-x64.json (Windows 10 1507-1607, Server 2016,
# builds 10240-14393 x64), which has no link members, partitions, port
# assignments or compartments.  Each block names its source.
source ufrisk/MemProcFS vmm/vmmnet.c @c3aa81068d7311b473625846175228a32e062a94
source bitdefender/hvmi introcore/src/guests/windows/winnet.c @35a58459a7c5f37538556b3394bee04b1effc31c
source volatilityfoundation/volatility3 volatility3/framework/symbols/windows/netscan/netscan-win81-19935-x64.json and netscan-win10-15063-x64.json @a1961401d52db56f310675d8cd4af09e3d9e4139 (neighbouring builds)

# The hash-table link: 0x28 in every Volatility 3 x64 layout from 8.1 to
# 20348 with the same TcpE head (InetAF 0x10, AddrInfo 0x18, State 0x6c),
# the 8.1 r19935 and 15063 files on either side included.  Without it the
# partition walk cannot place a TcpE.
struct _TCP_ENDPOINT 0x270
field _TCP_ENDPOINT ListEntry 0x28 0x10

# Port-pool chain links: MemProcFS's TcpL FLink 0x78 (10240 and later) and
# UdpA FLink 0x70 (10240-19040); the 15063 file agrees.
struct _TCP_LISTENER 0x0
field _TCP_LISTENER Next 0x78 0x8
struct _UDP_ENDPOINT 0x0
field _UDP_ENDPOINT Next 0x70 0x8

# hvmi: a partition starts with three pointers to RTL_DYNAMIC_HASH_TABLEs
# (the first in a TcHT block), the TCB table is the one at +pointer size;
# hvmi measures the stride at run time.  Stride 0x80: the 8.1 r19935 and
# 15063 files on either side; MemProcFS uses 0xc0 only from 1903 on.
struct _PARTITION 0x80
field _PARTITION Endpoints 0x8 0x8
field _PARTITION UnknownHashTable 0x10 0x8

# hvmi (9600 and later, x64): assignment table pointer at InPA+3 words,
# entries of 3 words, chain head at +1 word.  MemProcFS: entries 0x18 with
# the pointer at +8 up to 18363, table at InPA+0x18 (else +0x20).
struct _PORT_ASSIGNMENT 0x0
field _PORT_ASSIGNMENT InPaBigPoolBase 0x18 0x8
struct _PORT_ASSIGNMENT_ENTRY 0x18
field _PORT_ASSIGNMENT_ENTRY Entry 0x8 0x8

# 14393 uses TcpCompartmentSet/UdpCompartmentSet (MemProcFS: after 10586).
# 0x148/0x20/0x0 in every Volatility 3 x64 layout (Win7-20348); MemProcFS
# reads the TcCo pointer at InCo+0x20 and the port pool at TcCo+0.
struct _INET_COMPARTMENT_SET 0x0
field _INET_COMPARTMENT_SET InetCompartment 0x148 0x8
struct _INET_COMPARTMENT 0x0
field _INET_COMPARTMENT ProtocolCompartment 0x20 0x8
struct _PROTOCOL_COMPARTMENT 0x0
field _PROTOCOL_COMPARTMENT PortPool 0x0 0x8

# Not known: _INET_PORT_POOL.PortAssignments (0xd8 on 8.1 r19935, 0xe8 on
# 15063; MemProcFS and hvmi both search for it at run time).

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
