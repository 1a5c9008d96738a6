"""Collection: the device.collect task over a collection service, collectors, SSH, local files,
platforms, credentials, host keys, stored configurations and group slots."""
