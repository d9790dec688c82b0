using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Datapath.Engine.Ports;

/// <summary>
/// One queue's counters, alone on a cache line: only the lcore polling that queue writes them,
/// the control thread reads them (aligned 64-bit loads do not tear on x86-64).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
public struct QueueCounters
{
    [FieldOffset(0)] public ulong Packets;
    [FieldOffset(8)] public ulong Bytes;
    [FieldOffset(16)] public ulong Errors;
    /// <summary>Rx: packets lost for want of a buffer (rx_nombuf) or ring space; Tx: not sent.</summary>
    [FieldOffset(24)] public ulong Dropped;
}

/// <summary>The rx and tx counters of one port, in cache-line-aligned native memory.</summary>
public sealed unsafe class QueueCounterBlock : IDisposable
{
    readonly QueueCounters* _block;

    public int RxQueues { get; }
    public int TxQueues { get; }

    public QueueCounterBlock(int rxQueues, int txQueues)
    {
        RxQueues = rxQueues;
        TxQueues = txQueues;
        nuint bytes = (nuint)(Math.Max(1, rxQueues + txQueues) * sizeof(QueueCounters));
        _block = (QueueCounters*)NativeMemory.AlignedAlloc(bytes, 64);
        NativeMemory.Clear(_block, bytes);
    }

    // Asked for by every rx/tx burst, empty polls included: inlined, they are an add and an address.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref QueueCounters Rx(int queue) => ref _block[queue];
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref QueueCounters Tx(int queue) => ref _block[RxQueues + queue];

    bool _disposed;

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        NativeMemory.AlignedFree(_block);
        GC.SuppressFinalize(this);
    }

    ~QueueCounterBlock() => Dispose();
}
