using System.Collections.Concurrent;
using System.Threading.Channels;
using BenchmarkDotNet.Attributes;
using Datapath.Engine.Rings;
using Datapath.Hugepages.Native;

namespace Datapath.Benchmarks.Rings;

/// <summary>
/// A producer pinned to CPU 0 hands objects to a consumer pinned to CPU 1, through our ring and,
/// as Disruptor-net compares itself, through the obvious .NET alternatives: a bounded Channel and a
/// ConcurrentQueue (unbounded; the producer backs off when it is a ring's worth ahead). The
/// benchmark thread is the producer; the consumer is a long-lived pinned thread that drains
/// exactly as many objects as the producer sends. Reports ns per object.
/// </summary>
public class RingTwoCoreBenchmarks
{
    const int Objects = 1 << 16;
    const int Capacity = 4096;

    [Params(RingFlags.SingleProducerSingleConsumer, RingFlags.None)]
    public RingFlags Flags { get; set; }

    [Params(1, 8, 32)]
    public int Size { get; set; }

    PointerRing _ring = null!;
    Channel<nint> _channel = null!;
    ConcurrentQueue<nint> _queue = null!;
    readonly nint[] _objs = new nint[32];
    Thread _consumer = null!;
    volatile int _work;        // 0 idle, 1 ring, 2 channel, 3 queue, -1 exit
    volatile int _consumed;

    [GlobalSetup]
    public void Setup()
    {
        _ring = new PointerRing("bench-2c", Capacity, Flags);
        _channel = Channel.CreateBounded<nint>(new BoundedChannelOptions(Capacity) { SingleReader = true, SingleWriter = true });
        _queue = new ConcurrentQueue<nint>();
        Libc.PinCurrentThread([0]);
        _consumer = new Thread(ConsumeLoop) { IsBackground = true };
        _consumer.Start();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _work = -1;
        _consumer.Join();
        _ring.Dispose();
    }

    [Benchmark(OperationsPerInvoke = Objects)]
    public void PointerRing()
    {
        Start(1);
        var objs = _objs.AsSpan(0, Size);
        for (int sent = 0; sent < Objects;)
            sent += Size == 1 ? (_ring.TryEnqueue(sent) ? 1 : 0) : _ring.EnqueueBurst(objs);
        Finish();
    }

    [Benchmark(OperationsPerInvoke = Objects)]
    public void BoundedChannel()
    {
        Start(2);
        var writer = _channel.Writer;
        for (int sent = 0; sent < Objects;)
            if (writer.TryWrite(sent)) sent++;
        Finish();
    }

    [Benchmark(OperationsPerInvoke = Objects)]
    public void ConcurrentQueue()
    {
        Start(3);
        for (int sent = 0; sent < Objects;)
        {
            if (sent - _consumed >= Capacity) continue;   // bounded like the others
            _queue.Enqueue(sent++);
        }
        Finish();
    }

    void Start(int work) { _consumed = 0; _work = work; }

    void Finish()
    {
        while (_consumed < Objects) Thread.SpinWait(1);
        _work = 0;
    }

    void ConsumeLoop()
    {
        Libc.PinCurrentThread([1]);
        var objs = new nint[32];
        var reader = _channel.Reader;
        while (true)
        {
            int work = _work;
            if (work < 0) return;
            if (work == 0 || _consumed >= Objects) { Thread.SpinWait(1); continue; }
            int got = work switch
            {
                1 => Size == 1 ? (_ring.TryDequeue(out _) ? 1 : 0) : _ring.DequeueBurst(objs.AsSpan(0, Size)),
                2 => reader.TryRead(out _) ? 1 : 0,
                _ => _queue.TryDequeue(out _) ? 1 : 0,
            };
            if (got > 0) _consumed += got;
        }
    }
}
