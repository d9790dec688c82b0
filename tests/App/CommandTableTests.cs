using Datapath.App.Interactive;

namespace Datapath.Tests.App;

/// <summary>The console's command table: how lines match rows, what errors say, what Tab offers.</summary>
public class CommandTableTests
{
    static readonly CommandTable Real = ConsoleCommands.Create();

    static CommandSpec? Find(string line) => Real.Find(CommandTable.Split(line), out _);

    [Theory]
    [InlineData("start", "start")]
    [InlineData("start tx_first", "start tx_first [<n>]")]
    [InlineData("start tx_first 4", "start tx_first [<n>]")]
    [InlineData("show port stats all", "show port stats <port> [json]")]
    [InlineData("show port stats 1 json", "show port stats <port> [json]")]
    [InlineData("  show   port  info  0 ", "show port info <port>")]
    [InlineData("set fwd macswap", "set fwd <mode>")]
    [InlineData("set txpkts 14,50", "set txpkts <lengths>")]
    [InlineData("set promisc all off", "set promisc <port> on|off")]
    [InlineData("port close 1", "port close <port>")]
    [InlineData("show config rxtx", "show config rxtx")]
    public void LinesMatchTheirRow(string line, string syntax) => Assert.Equal(syntax, Find(line)?.Syntax);

    [Theory]
    [InlineData("show port stats banana")]
    [InlineData("set fwd warp")]
    [InlineData("start tx_first many")]
    [InlineData("set promisc 0 maybe")]
    [InlineData("show port stats all json extra")]
    [InlineData("stop now")]
    public void WrongWordsMatchNothing(string line) => Assert.Null(Find(line));

    [Fact]
    public void AnUnknownCommandAndBadArgumentsSaySoAndNameTheUsage()
    {
        var output = new StringWriter();
        var ctx = new CommandContext(null!, null!, output) { Table = Real };
        Real.Execute("warp 9", ctx);
        Real.Execute("set burst lots", ctx);
        string s = output.ToString();
        Assert.Contains("Command not found: 'warp'", s);
        Assert.Contains("Bad arguments", s);
        Assert.Contains("usage: set burst <n>", s);
    }

    [Fact]
    public void AHandlerThatThrowsPrintsTheMessageAndTheNextCommandStillRuns()
    {
        int ran = 0;
        var table = new CommandTable(
        [
            new("boom", "fails", (_, _) => throw new InvalidOperationException("the port is on fire")),
            new("ok", "works", (_, _) => ran++),
        ]);
        var output = new StringWriter();
        var ctx = new CommandContext(null!, null!, output) { Table = table };
        table.Execute("boom", ctx);
        table.Execute("ok", ctx);
        table.Execute("", ctx);
        table.Execute("# a comment", ctx);
        Assert.Equal("error: the port is on fire", output.ToString().Trim());
        Assert.Equal(1, ran);
    }

    [Theory]
    [InlineData("sho", new[] { "show" })]
    [InlineData("", new[] { "help", "quit", "start", "stop", "show", "clear", "set", "port" })]
    [InlineData("show port s", new[] { "summary", "stats" })]
    [InlineData("show port stats ", new[] { "all" })]
    [InlineData("show port stats all ", new[] { "json" })]
    [InlineData("show config ", new[] { "fwd", "rxtx", "cores" })]
    [InlineData("set fwd mac", new[] { "mac", "macswap" })]
    [InlineData("set promisc 0 o", new[] { "on", "off" })]
    [InlineData("start tx_first ", new string[0])]
    [InlineData("warp ", new string[0])]
    public void TabOffersTheWordsThatMayComeNext(string before, string[] expected) =>
        Assert.Equal(expected.Order(), Real.Complete(before).Order());

    [Fact]
    public void OptionalWordsMustComeLast() =>
        Assert.Throws<ArgumentException>(() => new CommandSpec("show [json] port", "", (_, _) => { }));

    [Fact]
    public void EveryCommandTheIssueNamesIsInTheTable()
    {
        string[] lines =
        [
            "help", "start", "start tx_first", "start tx_first 3", "stop", "quit",
            "show port info 0", "show port summary all", "show port stats all", "show port xstats 1",
            "clear port stats all", "clear port xstats 0", "show config fwd", "show config rxtx", "show config cores",
            "set fwd io", "set burst 64", "set txpkts 64", "set txpkts 14,50", "set nbcore 1", "set promisc all on",
            "port start all", "port stop 0", "port close 1", "show fwd stats all", "show port stats all json",
        ];
        foreach (string line in lines) Assert.True(Find(line) is not null, line);
    }
}
