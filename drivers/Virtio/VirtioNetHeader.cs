using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Datapath.Drivers.Virtio;

/// <summary>
/// struct virtio_net_hdr (virtio 1.2 §5.1.6). Precedes every packet in both directions. With
/// VIRTIO_F_VERSION_1 the header is always 12 bytes (num_buffers included, §5.1.6.1); fields are
/// little-endian, which is native on the platforms we run on.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct VirtioNetHeader
{
    /// <summary>Size with num_buffers: every modern device, and legacy with MRG_RXBUF.</summary>
    public const int Size = 12;
    /// <summary>Legacy size without MRG_RXBUF (§5.1.6.1, legacy interface).</summary>
    public const int LegacySize = 10;

    // flags (§5.1.6)
    /// <summary>Checksum from csum_start to the end must be computed and stored at csum_start + csum_offset.</summary>
    public const byte FlagNeedsCsum = 1;
    /// <summary>Rx: the device validated the checksum (needs GUEST_CSUM).</summary>
    public const byte FlagDataValid = 2;
    /// <summary>Rx: csum_start/csum_offset carry coalescing info (needs RSC_EXT).</summary>
    public const byte FlagRscInfo = 4;

    // gso_type (§5.1.6)
    public const byte GsoNone = 0;
    public const byte GsoTcpV4 = 1;
    public const byte GsoUdp = 3;
    public const byte GsoTcpV6 = 4;
    public const byte GsoUdpL4 = 5;
    public const byte GsoEcn = 0x80;

    public byte Flags;
    public byte GsoType;
    public ushort HdrLen;
    public ushort GsoSize;
    public ushort CsumStart;
    public ushort CsumOffset;
    /// <summary>Rx with MRG_RXBUF: how many buffers this packet spans (§5.1.6.4); 1 otherwise. Tx: 0.</summary>
    public ushort NumBuffers;

    /// <summary>
    /// Stores a header at <paramref name="destination"/>, leaving alone the bytes that already hold
    /// it (DPDK's ASSIGN_UNLESS_EQUAL). A buffer comes back around the ring with the header it
    /// carried last time, usually the same; not storing keeps the line clean and shared, so the
    /// other side reads it from its own cache instead of fetching it from ours. The header comes as
    /// its two words (<see cref="First8"/>, <see cref="Last4"/>), built in registers: a header
    /// struct assembled on the stack field by field and read back whole is a load the store
    /// buffer cannot forward, and it waits for every store before it — the frame copies into the
    /// peer's buffers, cross-core misses — serializing the burst.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void StoreUnlessEqual(byte* destination, ulong first8, uint last4)
    {
        if (Unsafe.ReadUnaligned<ulong>(destination) != first8) Unsafe.WriteUnaligned(destination, first8);
        if (Unsafe.ReadUnaligned<uint>(destination + 8) != last4) Unsafe.WriteUnaligned(destination + 8, last4);
    }

    /// <summary>Bytes 8-11 of a header with only num_buffers set (csum_offset = 0, num_buffers, little-endian).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Last4WithNumBuffers(ushort numBuffers) => (uint)numBuffers << 16;
}
