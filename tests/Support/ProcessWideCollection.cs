namespace Datapath.Tests.Support;

/// <summary>
/// Tests that count something of the whole process or machine (every open fd in /proc/self/fd, free
/// hugepages) run alone: any test running beside them opens and closes fds or takes pages of its
/// own, and the count moves by one.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideCollection
{
    public const string Name = "process-wide counts";
}
