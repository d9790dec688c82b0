using BenchmarkDotNet.Attributes;
using Datapath.Drivers.VhostUser.Backend;
using Datapath.Drivers.Virtio;

namespace Datapath.Benchmarks.Vhost;

/// <summary>
/// What every poll of a vhost-user ring pays before it looks at the ring: claiming the running
/// vring and letting it go (VhostVring.Enter / Exit, the hand-off with the control thread), per
/// poll, on one thread. A poll that finds the ring empty costs about this and one flags read.
/// `./run.sh bench-micro --filter '*VringHandOff*'`
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 5)]
public unsafe class VringHandOffBenchmarks
{
    const int Polls = 1024;
    readonly VhostVring _vring = new(1);
    byte* _block;

    [GlobalSetup]
    public void Setup()
    {
        // A ring nobody polls: only the runtime's presence matters here.
        _block = (byte*)System.Runtime.InteropServices.NativeMemory.AllocZeroed(16 * 4096);
        var ring = new PackedRingLayout(256).Place(_block);
        var memory = GuestMemoryTable.From([new GuestMemoryTable.Region(0, 16 * 4096, 0, 0, (nint)_block, 16 * 4096)]);
        _vring.Publish(new VringRuntime(new PackedVirtqueueDevice(ring, memory), -1, VirtioNetHeader.Size, mergeable: true));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _vring.Quiesce();
        System.Runtime.InteropServices.NativeMemory.Free(_block);
    }

    [Benchmark(OperationsPerInvoke = Polls)]
    public int EnterExit()
    {
        int live = 0;
        for (int i = 0; i < Polls; i++)
        {
            if (_vring.Enter() is null) continue;
            live++;
            _vring.Exit();
        }
        return live;
    }
}
