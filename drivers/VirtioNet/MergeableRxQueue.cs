using Datapath.Drivers.Virtio;
using Datapath.Engine.Packets;
using Datapath.Engine.Ports;

namespace Datapath.Drivers.VirtioNet;

/// <summary>
/// The MRG_RXBUF receive path (virtio 1.2 §5.1.6.3.2, §5.1.6.4.2): the first buffer of a frame holds
/// the header, whose num_buffers says how many used buffers the frame spans; the others hold only
/// frame bytes from their first byte. They become one chained packet. A frame whose buffers have
/// not all been used yet waits here for the next burst.
/// </summary>
public sealed unsafe class MergeableRxQueue<TRing>(uint vringIndex, TRing ring, PacketPool pool, ushort portId,
    QueueAddressing addressing = default)
    : RxQueue<TRing>(vringIndex, ring, pool, portId, addressing) where TRing : struct, IDriverRing
{
    Packet _head;        // the frame being assembled (null when none)
    Packet _tail;
    int _remaining;      // buffers it still needs

    public override int Receive(Span<Packet> pkts, ref QueueCounters c)
    {
        if (!ReadyForBurst()) return 0;
        Span<VirtqCompletion> done = Completions;
        // Each used buffer completes at most one frame: never more completions than room for frames.
        int n = Driver.PollUsed(done[..Math.Min(pkts.Length, MaxBurst)]);
        int got = 0;
        ulong bytes = 0;
        for (int i = 0; i < n; i++)
        {
            var p = Taken(done[i]);
            uint len = done[i].Length;
            if (_remaining == 0)
            {
                if (len <= HeaderSize) { Refuse(len); c.Errors++; p.Free(); continue; }
                // Read once: the backend may still scribble on a buffer it has returned.
                int buffers = Volatile.Read(ref ((VirtioNetHeader*)(p.Data - HeaderSize))->NumBuffers);
                if (buffers == 0 || buffers > Size) { BadNumBuffers++; c.Errors++; p.Free(); continue; }
                p.SetLength((int)len - HeaderSize);
                _head = _tail = p;
                _remaining = buffers - 1;
            }
            else
            {
                if (len == 0) { c.Errors++; p.Free(); DropFrame(); continue; }
                // A continuation buffer has no header: its data starts where the descriptor does.
                p.Header->DataOff -= HeaderSize;
                p.Header->DataLen = (ushort)len;
                _tail.Header->Next = p.Header;
                _tail = p;
                _head.Header->NbSegs++;
                _head.Header->PktLen += len;
                _remaining--;
            }
            if (_remaining == 0)
            {
                _head.Port = PortId;
                bytes += (ulong)_head.PacketLength;
                pkts[got++] = _head;
                _head = _tail = default;
            }
        }
        c.Packets += (ulong)got;
        c.Bytes += bytes;
        if (n > 0) Refill(ref c);
        return got;
    }

    void DropFrame()
    {
        if (!_head.IsNull) _head.Free();
        _head = _tail = default;
        _remaining = 0;
    }

    public override void Release()
    {
        DropFrame();
        base.Release();
    }
}
