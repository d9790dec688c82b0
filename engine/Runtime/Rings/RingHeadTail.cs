using System.Runtime.InteropServices;

namespace Datapath.Engine.Rings;

/// <summary>
/// The four ring indexes, rte_ring style: producer head/tail share one cache line, consumer
/// head/tail another, 128 bytes apart so the adjacent-line prefetcher does not pair them
/// (producers and consumers run on different cores and must not false-share).
/// Indexes run free over 32 bits; slot = index &amp; mask.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 384)]
internal struct RingHeadTail
{
    [FieldOffset(128)] public uint ProdHead;
    [FieldOffset(132)] public uint ProdTail;
    [FieldOffset(256)] public uint ConsHead;
    [FieldOffset(260)] public uint ConsTail;
}
