#include "app/ExportdApp.h"

int main(int argc, char** argv)
{
    // Before any thread exists, so that every thread inherits the mask and the
    // signals reach only the sigwait loop.
    exportd::blockProcessSignals();
    exportd::ExportdApp app;
    return app.run(argc, argv);
}
