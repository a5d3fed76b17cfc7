using Monolith.Bench;

return args switch
{
    ["provision", var url, var key, var count, var parallel] => await ProvisioningBench.RunAsync(new Uri(url), key, int.Parse(count), int.Parse(parallel)),
    ["migrate", var connectionString, var parallel] => await MigrationBench.RunAsync(connectionString, int.Parse(parallel)),
    ["provision-phases", var connectionString, var count] => await ProvisioningPhasesBench.RunAsync(connectionString, int.Parse(count)),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Monolith.Bench provision URL PLATFORM_KEY COUNT PARALLEL | migrate CONNECTION_STRING PARALLEL");
    return 2;
}
