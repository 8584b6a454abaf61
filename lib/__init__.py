"""The offer desk: services, storage, documents and mail behind the pages."""
