using System.Runtime.InteropServices;

namespace Datapath.Engine.Packets;

/// <summary>
/// One lcore's private stack of free buffers (rte_mempool_cache): gets and puts in bursts hit this
/// array and touch the pool's shared ring only to refill below empty or flush above
/// <see cref="FlushThreshold"/> (1.5 × size, as DPDK). Only its own lcore ever touches it.
/// </summary>
internal sealed unsafe class PoolCache : IDisposable
{
    public readonly int Size;
    public readonly int FlushThreshold;
    public readonly nint* Objs;
    public int Len;

    public PoolCache(int size)
    {
        Size = size;
        FlushThreshold = size + size / 2;
        // Room for a full cache plus one maximal put (≤ Size) before the flush runs.
        Objs = (nint*)NativeMemory.AlignedAlloc((nuint)(FlushThreshold + size) * (nuint)sizeof(nint), 64);
    }

    public void Dispose() => NativeMemory.AlignedFree(Objs);
}
