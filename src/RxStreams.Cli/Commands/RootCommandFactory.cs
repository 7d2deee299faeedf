using System.CommandLine;
using System.CommandLine.Help;

namespace RxStreams.Cli.Commands;

/// <summary>The <c>rxstreams</c> command tree: one subcommand per file beside this one.</summary>
internal static class RootCommandFactory
{
    /// <summary>
    /// The root is a plain <see cref="Command"/> named <c>rxstreams</c>, not a <see cref="RootCommand"/>: that one names
    /// itself after the executable, which is <c>RxStreams.Cli</c> under <c>dotnet RxStreams.Cli.dll</c> and the tool shim.
    /// The cost is RootCommand's directives (<c>[suggest]</c> for dotnet-suggest, <c>[diagram]</c>); tab completion
    /// through dotnet-suggest is the one feature this gives up.
    /// </summary>
    public static Command Create(CliConsole console)
    {
        var root = new Command(
            "rxstreams",
            """
            The asyncio streams seed examples and small network tools, built on RxStreams.
            Exit codes: 0 done (or stopped by Ctrl+C/SIGTERM), 1 runtime failure (connection refused, bad certificate), 2 usage error.
            """)
        {
            DemoCommand.Create(console),
            EchoCommand.Create(console),
            SendCommand.Create(console),
            ConnectCommand.Create(console),
            ProxyCommand.Create(console),
            RecordCommand.Create(console),
        };
        root.Options.Add(new HelpOption { Recursive = true });
        root.Options.Add(new VersionOption());
        return root;
    }
}
