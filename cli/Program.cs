namespace Monolith.Cli;

internal static class CliProgram
{
    public static Task<int> Main(string[] args) => CliApp.RunAsync(args, Console.Out, Console.Error);
}
