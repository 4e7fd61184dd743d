import XCTest

final class PipelineSmokeTests: XCTestCase {
    func testModuleLinks() { XCTAssertTrue(true) }
}
