namespace Datapath.Tests.Support;

/// <summary>
/// Tests that run dpdk-testpmd (or another busy-polling peer) run one at a time: each peer spins a CPU,
/// and two at once on this 2-CPU machine would only measure the scheduler.
/// </summary>
[CollectionDefinition("dpdk", DisableParallelization = true)]
public sealed class DpdkCollection;
