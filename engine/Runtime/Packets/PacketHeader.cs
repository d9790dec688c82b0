using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Datapath.Engine.Packets;

/// <summary>
/// The fixed header at the start of every packet buffer in hugepage memory: one cache line, like
/// the first line of rte_mbuf. The buffer (headroom, then data room) follows it directly.
/// Holds no managed reference: the owning pool is an index into <see cref="PacketPool"/>'s table.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
public unsafe struct PacketHeader
{
    public const int Size = 64;

    /// <summary>Virtual address of the buffer (start of the headroom).</summary>
    [FieldOffset(0)] public byte* BufAddr;
    /// <summary>What a device uses to reach <see cref="BufAddr"/>.</summary>
    [FieldOffset(8)] public ulong BufIova;
    /// <summary>Where the data starts, from <see cref="BufAddr"/>.</summary>
    [FieldOffset(16)] public ushort DataOff;
    [FieldOffset(18)] public ushort RefCnt;
    [FieldOffset(20)] public ushort NbSegs;
    [FieldOffset(22)] public ushort Port;
    [FieldOffset(24)] public OffloadFlags OlFlags;
    [FieldOffset(32)] public uint PacketType;
    /// <summary>Bytes in the whole packet, all segments (first segment only).</summary>
    [FieldOffset(36)] public uint PktLen;
    /// <summary>Bytes in this segment.</summary>
    [FieldOffset(40)] public ushort DataLen;
    [FieldOffset(42)] public ushort VlanTci;
    [FieldOffset(44)] public uint Hash;
    [FieldOffset(48)] public PacketHeader* Next;
    /// <summary>Headroom + data room.</summary>
    [FieldOffset(56)] public ushort BufLen;
    [FieldOffset(58)] public ushort PoolId;
    /// <summary>Checksum offload metadata (virtio-net header csum_start/csum_offset, or L2/L3 lengths).</summary>
    [FieldOffset(60)] public ushort CsumStart;
    [FieldOffset(62)] public ushort CsumOffset;

    /// <summary>
    /// Bytes 16-47 of a header fresh from its pool (DPDK's rearm data and more): DataOff =
    /// <paramref name="headroom"/>, RefCnt 1, NbSegs 1, Port none; OlFlags, PacketType, PktLen,
    /// DataLen, VlanTci and Hash 0. Made once per pool, stored by <see cref="Reset"/> per packet.
    /// </summary>
    public static Vector256<ulong> FreshFields(ushort headroom)
        => Vector256.Create(headroom | 1UL << 16 | 1UL << 32 | (ulong)ushort.MaxValue << 48, 0, 0, 0);

    /// <summary>
    /// A packet as its pool hands it out: <paramref name="fresh"/> (<see cref="FreshFields"/>) over bytes
    /// 16-47 and no next segment, in two stores where a field at a time took ten (one line: the header
    /// is line-aligned). BufAddr, BufIova, BufLen and PoolId are the buffer's own and never change.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Reset(PacketHeader* h, Vector256<ulong> fresh)
    {
        fresh.Store((ulong*)((byte*)h + 16));
        h->Next = null;
    }
}
