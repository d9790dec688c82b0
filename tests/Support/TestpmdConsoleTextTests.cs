using Xunit;

namespace Datapath.Tests.Support;

/// <summary>
/// How the testpmd harness reads the console. The first text is the one a CI run saw: testpmd's
/// interrupt thread printed a link event while the prompt after `start` was half written.
/// </summary>
public class TestpmdConsoleTextTests
{
    [Fact]
    public void An_event_printed_inside_the_prompt_leaves_the_prompt_whole()
    {
        const string seen = "TX offloads=0x0 - TX RS bit threshold=0\nt\nPort 0: link state change event\nestpmd> ";
        Assert.DoesNotContain("testpmd> ", seen);
        Assert.Equal("TX offloads=0x0 - TX RS bit threshold=0\ntestpmd> ", Testpmd.WithoutEvents(seen));
    }

    [Fact]
    public void Events_back_to_back_go_and_the_reply_around_them_stays()
    {
        const string seen = "Done.\ntestpmd> \nPort 0: queue state event\n\nPort 0: queue state event\nstart\nRX-packets: 5\n";
        Assert.Equal("Done.\ntestpmd> start\nRX-packets: 5\n", Testpmd.WithoutEvents(seen));
    }
}
