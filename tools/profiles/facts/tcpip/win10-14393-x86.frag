# Facts completing netscan-win10-14393-x86.json (Windows 10 1607 x86), which
# has no link members, partition or port-pool layout.
source bitdefender/hvmi introcore/src/guests/windows/winnet.c @35a58459a7c5f37538556b3394bee04b1effc31c
source volatilityfoundation/volatility3 volatility3/framework/symbols/windows/netscan/netscan-win10-10586-x86.json and netscan-win10-15063-x86.json @a1961401d52db56f310675d8cd4af09e3d9e4139 (the builds on either side)

# hvmi: a partition starts with three pointers to RTL_DYNAMIC_HASH_TABLEs
# (the first in a TcHT block); the TCB table is the one at +pointer size
# (so +4 here, as in the Volatility 3 Win7/10240/15063 x86 files) and the
# third pointer (+8) is the other table hvmi mentions.
# Stride 0x40 as in 15063 x86 (and 10240; 10586 x86 says 0x48).
struct _PARTITION 0x40
field _PARTITION Endpoints 0x4 0x4
field _PARTITION UnknownHashTable 0x8 0x4

# PortBitMap 0x90, PortAssignments 0x98: both 10586 and 15063 x86; hvmi finds
# the assignments 2 words after the RTL_BITMAP.
struct _INET_PORT_POOL 0x0
field _INET_PORT_POOL PortBitMap 0x90 0x8
field _INET_PORT_POOL PortAssignments 0x98 0x400

# hvmi (9600 and later, before 19041): table at InPA+4 dwords (the 10586 and
# 15063 x86 files agree: 0x10), entries of 3 words (0xc) with the chain head
# at +1 word.  The Volatility 3 x86 files say entries of 8 bytes; chosen:
# hvmi, which walks x86 guests, and whose 3-word entry matches the x64
# 0x18 entries of 8.1-18363 in Volatility 3, MemProcFS and hvmi alike.
struct _PORT_ASSIGNMENT 0x0
field _PORT_ASSIGNMENT InPaBigPoolBase 0x10 0x4
struct _PORT_ASSIGNMENT_ENTRY 0xc
field _PORT_ASSIGNMENT_ENTRY Entry 0x4 0x4

# Chain links: TcpL 0x48 and UdpA 0x4c in both 10586-era and 15063 x86 files
# after the same TcpL/UdpA members as this layout (15063 x86: identical
# TcpL and UdpA members).
struct _TCP_LISTENER 0x0
field _TCP_LISTENER Next 0x48 0x4
struct _UDP_ENDPOINT 0x0
field _UDP_ENDPOINT Next 0x4c 0x4

# Compartment sets (1607 and later): the 15063 x86 file's values.
struct _INET_COMPARTMENT_SET 0x0
field _INET_COMPARTMENT_SET InetCompartment 0x144 0x4
struct _INET_COMPARTMENT 0x0
field _INET_COMPARTMENT ProtocolCompartment 0x14 0x4
struct _PROTOCOL_COMPARTMENT 0x0
field _PROTOCOL_COMPARTMENT PortPool 0x0 0x4
